"""The wire APIs the gateway serves: one folder per API, each a codec over the one pipeline.

A codec parses its API's request into the canonical ``ChatRequest``, renders the pipeline's canonical result
and stream events in its API's shape (minting its own ids), and renders every ``GatewayError`` in its API's
error shape, turning neutral error locations (``GatewayError.loc``) into its own parameter syntax. The HTTP
layer picks the codec per route (``opentoken.http.ingress``).
"""
