"""The declared shapes of /api/v1 (pydantic v2): what each endpoint accepts (`requests`: JSON
bodies, query strings, the multipart upload) and what it answers (`responses`). One declaration
serves both ends: `web.api.endpoint` validates requests with these models and
`web.api.openapi` generates the OpenAPI 3.1 document from them and the route table."""
