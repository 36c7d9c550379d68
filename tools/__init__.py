"""The literate tools: tangle (book -> cnnlit) and execute (refresh stored outputs)."""
