"""IoT monitoring (运行监测): devices, telemetry, alarm rules, linkage to cases and public warnings."""
