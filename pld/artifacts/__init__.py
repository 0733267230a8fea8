"""What lands on disk and how people read it: the artifact format, atomic writes, run reports,
review, hand edits."""
