"""12345 工单 exchange: 工单 in from a 12345 government-hotline platform, acceptance, progress, result and 回访 back."""
