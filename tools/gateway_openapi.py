#!/usr/bin/env python3
"""Writes services/gateway/openapi.json from the gateway's route tables: the front door's
(services/gateway/frontdoor.c) and identity's (services/gateway/routes.c). Run it after changing
either table; the gateway_proxy test fails while the document and the tables disagree.

usage: tools/gateway_openapi.py
"""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = r'(GET|POST|PUT|PATCH|DELETE)'
OWNERS = {'h_telephony': 'telephony', 'h_telephony_upload': 'telephony', 'h_sms': 'sms', 'h_sentiment': 'sentiment',
          'h_analytics': 'analytics'}
ROLES = {'ANY': 'AGENT', 'SUP': 'SUPERVISOR', 'ADM': 'ADMIN', 'PUB': None, 'AGENT': 'AGENT',
         'SUPERVISOR': 'SUPERVISOR', 'ADMIN': 'ADMIN', 'NONE': None}
PREFIX_NOTE = ('Besides these, any other path under a forwarded prefix (/api/calls, /api/agents, '
               '/api/campaigns, /api/contacts, /api/supervisor, /api/ivr, /api/telephony, '
               '/api/queues, /api/webhooks, /api/sms, /api/email, /api/sentiment, /api/analytics, '
               '/api/dashboard) is forwarded to its owner with that prefix\'s default role. '
               'CORS preflights (OPTIONS) are answered on every path.')


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def operation(method, path, owner, role):
    error = {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}}
    op = {'summary': '%s %s' % (method, path), 'tags': [owner], 'x-owner': owner,
          'responses': {'200': {'description': 'as in shared/API-CONTRACT.md'},
                        'default': {'description': 'error', 'content': error}}}
    params = re.findall(r'\{(\w+)\}', path)
    if params:
        op['parameters'] = [{'name': p, 'in': 'path', 'required': True,
                             'schema': {'type': 'string'}} for p in params]
    if role:
        op['security'] = [{'bearer': []}]
        op['x-min-role'] = role
        op['responses']['401'] = {'$ref': '#/components/responses/Unauthorized'}
        op['responses']['403'] = {'$ref': '#/components/responses/Forbidden'}
    else:
        op['security'] = []
    if owner in OWNERS.values():
        op['responses']['503'] = {'description': '{"detail": "%s unavailable"}' % owner}
        op['responses']['504'] = {'description': '{"detail": "%s timed out"}' % owner}
    return op


def main():
    paths = {}
    front = re.findall(r'\{"%s", "([^"]+)", (h_\w+), (ANY|SUP|ADM|PUB), RAW[^}]*\}' % METHODS,
                       read('services/gateway/frontdoor.c'))
    for method, path, handler, role in front:
        if '{*' in path:
            continue
        owner = OWNERS.get(handler, 'gateway')
        paths.setdefault(path, {})[method.lower()] = operation(method, path, owner, ROLES[role])
    ident = re.findall(r'\{"%s", "([^"]+)", h_\w+, CC_ROLE_(\w+)' % METHODS,
                       read('services/gateway/routes.c'))
    for method, path, role in ident:
        paths.setdefault(path, {})[method.lower()] = operation(method, path, 'identity',
                                                               ROLES[role])
    error_ref = {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}}
    doc = {
        'openapi': '3.1.0',
        'info': {'title': 'Voice by Kraliki API', 'version': '2.0.0',
                 'description': 'Every route the gateway serves. Routes owned by another service '
                                'are forwarded to it unchanged after the bearer token and the role '
                                '(x-min-role) are checked; bodies are described in '
                                'shared/API-CONTRACT.md. ' + PREFIX_NOTE},
        'servers': [{'url': 'http://127.0.0.1:8080'}],
        'components': {
            'securitySchemes': {'bearer': {'type': 'http', 'scheme': 'bearer',
                                           'bearerFormat': 'JWT'}},
            'schemas': {'Error': {'type': 'object', 'required': ['detail'],
                                  'properties': {'detail': {'type': 'string'}}}},
            'responses': {
                'Unauthorized': {'description': 'Not authenticated / Authentication failed',
                                 'content': error_ref},
                'Forbidden': {'description': 'Supervisor or admin access required',
                              'content': error_ref}}},
        'paths': dict(sorted(paths.items())),
    }
    with open(os.path.join(ROOT, 'services/gateway/openapi.json'), 'w', encoding='utf-8') as f:
        f.write(json.dumps(doc, indent=2) + '\n')
    print('%d operations' % sum(len(v) for v in paths.values()))


if __name__ == '__main__':
    main()
