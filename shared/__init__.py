"""Voxframe's common library: message contract, RabbitMQ bus, metrics, config."""

__version__ = "0.1.0"
