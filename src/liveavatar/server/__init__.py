"""The backend service: FastAPI app, WebSocket route, HTTP endpoints, metrics."""
