"""The HTTP edge: problem details, middleware, OpenAPI and paging helpers shared by the routers."""
