"""Who opened a link: app, operating system, device, browser, and whether a person did.

    from qunyun.clients import classify
    client = classify(request.headers.get("user-agent"), request.headers)
    client.app          # App.WECHAT, App.QQ ... or None
    client.is_preview_bot

Pure: no web framework, no database. Answers are cached per distinct User-Agent.
"""

from qunyun.clients.classify import classify
from qunyun.clients.model import OS, App, Client, DeviceType

__all__ = ["OS", "App", "Client", "DeviceType", "classify"]
