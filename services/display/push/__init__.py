"""Live push: messages from the bus into the gallery and out to every open websocket."""
