"""How a model is reached: spec parsing and options, embedded llama.cpp, OpenAI-compatible
servers, Ollama."""
