"""The one HTTP client for upstream calls (aiohttp), the mapping of upstream failures onto our
errors, and the checked fetch of URLs the gateway is handed."""
