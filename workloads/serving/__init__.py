"""The serving layer: REST and GraphQL over ClickHouse, with Redis caching."""
