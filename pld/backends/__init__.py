"""How a model is reached: spec parsing and options, what PLD knows about each LM it builds
(``info``), embedded llama.cpp, OpenAI-compatible servers, Ollama."""
