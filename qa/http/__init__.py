"""The HTTP layer: app assembly, the auth gate, limits, errors, REST and OpenAI routes,
health and metrics. Routes are thin: they validate, call the one ``Assistant``, shape."""
