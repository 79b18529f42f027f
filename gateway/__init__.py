"""What every use case shares: who is calling (auth), admission and metering (tickets,
metering, runs), which upstream serves (routing; attempts: fallbacks, retries and deadlines;
breakers), rate limits, model sources, and the wiring (settings, services). No HTTP type."""
