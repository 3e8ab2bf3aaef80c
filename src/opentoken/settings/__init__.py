"""Typed settings from the environment and an optional TOML config file (env wins).

This is the only part that reads the environment: ``model.py`` is the settings struct, ``load.py`` fills and
checks it, ``report.py`` explains it, ``environment.py`` reads the variables named by providers and by
OpenTelemetry.
"""

from opentoken.settings.environment import ProviderSettings, provider_settings, telemetry_settings
from opentoken.settings.load import SettingsError, env_name, env_value, load_settings, read_settings, setting_fields
from opentoken.settings.model import DeploymentConfig, Secret, Settings
from opentoken.settings.report import SettingValue, explain, settings_table, unknown_settings

__all__ = [
    "DeploymentConfig",
    "ProviderSettings",
    "Secret",
    "SettingValue",
    "Settings",
    "SettingsError",
    "env_name",
    "env_value",
    "explain",
    "load_settings",
    "provider_settings",
    "read_settings",
    "setting_fields",
    "settings_table",
    "telemetry_settings",
    "unknown_settings",
]
