"""``pld review ARTIFACT``: review a rule list in the browser — each rule's evidence, edits,
re-scoring with the same paired gain test, and saving as the artifact's next version."""
