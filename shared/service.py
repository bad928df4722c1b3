"""What a service tells `voxframe run` about itself: its command and where its `/metrics` and `/healthz` answer."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic_settings import BaseSettings


@dataclass(frozen=True)
class ServiceSpec:
    """One service as the launcher starts it; each service declares its own (`SERVICE` in its `__main__`)."""

    command: str  # the `voxframe` subcommand
    port: int  # where /metrics and /healthz answer unless told otherwise
    port_flag: str = "--metrics-port"  # the flag that moves them

    @classmethod
    def from_settings(cls, command: str, settings: type[BaseSettings], field: str = "metrics_port",
                      port_flag: str = "--metrics-port") -> ServiceSpec:
        """The spec whose default port is the settings' own default for `field`."""
        return cls(command, settings.model_fields[field].default, port_flag)

    def port_args(self, port: int | None = None) -> list[str]:
        """The flag and value that put /metrics and /healthz on `port` (default: the service's own)."""
        return [self.port_flag, str(self.port if port is None else port)]


def service_spec(command: str) -> ServiceSpec:
    """The `SERVICE` of the module behind `voxframe <command>`, found through its `voxframe.commands` entry point
    (so shared/ names no service module)."""
    (entry,) = entry_points(group="voxframe.commands", name=command)
    module = importlib.import_module(entry.module)
    spec = getattr(module, "SERVICE", None)
    if not isinstance(spec, ServiceSpec):
        raise TypeError(f"{entry.module} declares no SERVICE = ServiceSpec(...)")
    return spec
