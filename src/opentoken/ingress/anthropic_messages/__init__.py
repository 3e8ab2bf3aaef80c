"""The Anthropic Messages API ingress: ``POST /v1/messages`` and ``/v1/messages/count_tokens`` over the pipeline.

``wire`` types the request, ``parse`` validates it and converts it into the canonical request (keeping the
body as sent, ``core.chat.NativeRequest``, for providers that speak this API), ``render`` and ``stream``
write replies in Anthropic's shape and event grammar (or relay a passed-through reply as it came), ``errors``
renders the error tree in Anthropic's shape and statuses, ``locs`` names canonical error locations in this
API's field syntax, ``models`` the Anthropic model list; ``codec`` ties them to the ``Codec`` protocol.
"""
