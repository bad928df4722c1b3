"""Metrics of the display stage (the bus records the common ones)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

IMAGES_RECEIVED = Counter("voxframe_display_images_received_total", "New images stored in the gallery")
IMAGES_PRUNED = Counter("voxframe_display_images_pruned_total", "Old images removed to stay within the budget")
GALLERY_IMAGES = Gauge("voxframe_display_gallery_images", "Images in the gallery")
GALLERY_BYTES = Gauge("voxframe_display_gallery_bytes", "Bytes of image files in the gallery")
CLIENTS = Gauge("voxframe_display_websocket_clients", "Open websockets", ["kind"])
PUSH_SECONDS = Histogram("voxframe_display_push_seconds", "From a message's arrival to its send on one websocket",
                         ["kind"], buckets=PUSH_BUCKETS)
PUSH_DROPPED = Counter("voxframe_display_push_dropped_total", "Events dropped for clients too slow to keep up",
                       ["kind"])
UPLOADS = Counter("voxframe_display_uploads_total", "Upload attempts by outcome", ["outcome"])
JOBS_FINISHED = Counter("voxframe_display_jobs_finished_total", "Upload jobs finished", ["status"])
CONTROLS = Counter("voxframe_display_controls_total", "Control messages sent from the dashboard", ["command"])
MQTT_COMMANDS = Counter("voxframe_display_mqtt_commands_total", "Home Assistant commands over MQTT by outcome "
                        "(sent, refused, failed)", ["outcome"])
IMAGE_VARIANTS = Counter("voxframe_display_image_variants_total", "Image variants made (width and type)", ["type"])
VARIANT_FALLBACKS = Counter("voxframe_display_image_variant_fallbacks_total",
                            "Variant requests beyond the render queue, served the nearest size already made")
ANONYMOUS_READS_REFUSED = Counter("voxframe_display_anonymous_reads_refused_total",
                                  "Requests without the token refused (503) because the anonymous readers were full")
