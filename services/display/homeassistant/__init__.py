"""Home Assistant over MQTT: rooms announced by discovery, their state published, its commands taken."""
