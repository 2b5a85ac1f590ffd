"""Public services (公众服务): service points, the QR service guide, 便民服务 records, 追呼 call tracking of
illegal ads, and the public disclosure pages."""
