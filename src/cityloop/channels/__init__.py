"""上报渠道 / intake channels: inspector app, public reporting, hotline, video, upper-level assignment."""
