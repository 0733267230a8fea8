"""The stages of a PLD run, in data-flow order: traces, teacher, hygiene, clustering, scoring,
racing, selection, repair, and rendering the rules into instructions."""
