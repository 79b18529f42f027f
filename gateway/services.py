"""What handlers need, built once per worker by the app factory and passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.catalog import Catalog
from domain.catalog_checks import ModelRules
from gateway.auth import Authenticator
from gateway.breakers import Breakers, BreakerStore, DatabaseBreakers
from gateway.catalog_file import check_catalog_file, load_catalog
from gateway.image_store import ImageStore
from gateway.metering import Meter
from gateway.metrics import Metrics
from gateway.model_sources import ModelSources, list_sources
from gateway.rate_limits import RateLimits, rate_limits_for
from gateway.settings import Settings
from providers.http.client import HttpClient
from providers.http.proxies import Proxies
from providers.kinds import CAPABILITIES
from providers.registry import Registry, build_registry
from providers.rows import missing_settings
from storage import reservations
from storage.engine import create_engine, is_sqlite
from storage.group_commit import GroupCommit
from storage.redis_breakers import RedisBreakers


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    http: HttpClient
    catalog: Catalog
    registry: Registry
    auth: Authenticator
    meter: Meter
    image_store: ImageStore
    rate_limits: RateLimits
    breakers: Breakers
    models: ModelSources  # replaces `catalog` as lists are synced and models discovered
    metrics: Metrics

    def use_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.rate_limits.aclose()
        await self.breakers.aclose()
        await self.meter.aclose()
        await self.engine.dispose()


def upstream_client(settings: Settings) -> HttpClient:
    """One client per worker (providers/http/client.py, over aiohttp). Its connection limit is
    high: a low one made the next concurrent stream wait for a connection and then fail.
    Proxies come from the settings' environment (`HTTPS_PROXY`, `NO_PROXY`). Each provider
    uses it with the timeouts of its own deadlines (providers/registry.py)."""
    return HttpClient(
        max_connections=settings.upstream_max_connections,
        proxies=Proxies(settings.environ),
        max_body=settings.upstream_max_body_bytes,
    )


def breakers_for(
    settings: Settings, writer: GroupCommit, registry: Registry, metrics: Metrics | None = None
) -> Breakers:
    """Circuit breakers shared through Redis when `REDIS_URL` is set, else the database."""
    store: BreakerStore = (
        RedisBreakers(settings.redis_url) if settings.redis_url else DatabaseBreakers(writer)
    )
    policies = {name: p.breaker for name, p in registry.policies.items()}
    return Breakers(store, policies, watch=metrics)


def metering_writer(database_url: str) -> GroupCommit:
    """SQLite has one writer at a time, so its batches cannot deadlock; on PostgreSQL each
    batch first locks the counters it changes, in one order (storage/reservations.py)."""
    if is_sqlite(database_url):
        return GroupCommit(database_url)
    return GroupCommit(database_url, prepare=reservations.lock_counters)


def build_services(settings: Settings) -> Services:
    metrics = Metrics(settings.metrics_dir)
    catalog_file = load_catalog(settings.catalog_path)
    # A catalog its provider kinds cannot serve stops the start (CatalogError), naming the rows.
    check_catalog_file(catalog_file, CAPABILITIES)
    engine = create_engine(settings.database_url)
    http = upstream_client(settings)
    writer = metering_writer(settings.database_url)
    rate_limits = rate_limits_for(settings, writer)
    registry = build_registry(catalog_file.provider_rows, settings.environ, http)
    catalog = catalog_file.catalog.with_setup(
        {
            row["name"]: missing_settings(row, settings.environ)
            for row in catalog_file.provider_rows
            if row["name"] not in registry.configured
        }
    )
    models = ModelSources(
        catalog,
        registry.configured,
        engine,
        list_sources(catalog_file.provider_rows, registry),
        settings.discovery,
        ModelRules.of(catalog_file.provider_rows, CAPABILITIES),
    )
    services = Services(
        settings=settings,
        engine=engine,
        http=http,
        catalog=catalog,
        registry=registry,
        auth=Authenticator(engine, settings.server_secret, settings.key_cache_seconds),
        meter=Meter(
            writer,
            lease_seconds=settings.reservation_lease_seconds,
            renew_seconds=settings.reservation_lease_seconds / 3,
            rate_limits=rate_limits,
        ),
        image_store=ImageStore(
            settings.image_dir, settings.server_secret, settings.image_url_ttl_seconds
        ),
        rate_limits=rate_limits,
        breakers=breakers_for(settings, writer, registry, metrics),
        models=models,
        metrics=metrics,
    )
    models.publish = services.use_catalog
    return services
