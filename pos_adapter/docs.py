"""The published POS protocol: GET /pos/v1/openapi.json and a self-contained docs page.

The page has no external assets (the CSP forbids them): inline CSS and a small inline script that
fetches openapi.json and renders endpoints, fields, examples and error codes with DOM text nodes.
"""

from __future__ import annotations

import json
import secrets

from flask import Blueprint, Response, request

from pos_adapter.openapi import BASE_PATH, openapi_document

bp = Blueprint("pos_docs", __name__)


@bp.get(f"{BASE_PATH}/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document, with this host as its server (key order kept as written)."""
    body = json.dumps(openapi_document(request.host_url), indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get(f"{BASE_PATH}/docs")
def docs_page() -> Response:
    """The browsable docs page."""
    nonce = secrets.token_urlsafe(16)
    response = Response(_PAGE.replace("{{nonce}}", nonce), mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


_PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>POS protocol v1</title>
<link rel="icon" href="data:,">
<style nonce="{{nonce}}">
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --accent: #0b5394; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { background: #24292f; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0; font-size: 1.5rem; }
header .sub { color: #c9d1d9; }
.layout { display: flex; align-items: flex-start; }
nav { position: sticky; top: 0; width: 17rem; flex: none; padding: 1rem; max-height: 100vh;
      overflow: auto; border-right: 1px solid var(--line); }
nav a { display: block; color: var(--ink); text-decoration: none; padding: .15rem 0;
        font-size: .85rem; }
nav a:hover { color: var(--accent); }
nav h2 { font-size: .75rem; text-transform: uppercase; color: var(--muted); margin: 1rem 0 .3rem; }
main { flex: 1; padding: 1rem 2rem 4rem; min-width: 0; max-width: 70rem; }
section.op { border: 1px solid var(--line); border-radius: 6px; margin: 1.5rem 0; }
section.op > h3 { margin: 0; padding: .6rem 1rem; background: var(--bg); font-size: 1rem;
                  border-bottom: 1px solid var(--line); font-family: ui-monospace, monospace; }
section.op .body { padding: .2rem 1rem 1rem; }
.method { display: inline-block; min-width: 3.5rem; text-align: center; color: #fff;
          border-radius: 4px; padding: 0 .4rem; margin-right: .5rem; font-size: .8rem; }
.method.post { background: #1a7f37; } .method.get { background: #0969da; }
h4 { margin: 1rem 0 .3rem; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .3rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
th { background: var(--bg); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .82rem; }
code { background: var(--bg); padding: 0 .2rem; border-radius: 3px; }
pre { background: var(--bg); padding: .6rem; overflow: auto; border-radius: 4px; margin: .3rem 0; }
.req { color: #cf222e; font-size: .75rem; }
.status { font-weight: 600; font-family: ui-monospace, monospace; }
.muted { color: var(--muted); }
.codes a { margin-right: .4rem; }
#error { color: #cf222e; }
</style>
</head>
<body>
<header><h1 id="title">POS protocol v1</h1><div class="sub" id="subtitle">Loading the
OpenAPI document&hellip;</div></header>
<div class="layout"><nav id="nav"></nav><main id="doc"><p id="error"></p></main></div>
<script nonce="{{nonce}}">
"use strict";
(function () {
  const main = document.getElementById("doc");
  const nav = document.getElementById("nav");
  let spec = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function table(headers, rows) {
    const head = el("tr", {}, ...headers.map(function (h) { return el("th", {}, h); }));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
  }

  function muted(text) { return el("div", {"class": "muted"}, text); }

  function nameCell(name, required) {
    return el("td", {}, el("code", {}, name),
              required ? el("span", {"class": "req"}, " required") : null);
  }

  // Backticks -> <code>, **x** -> <strong>; everything else stays text.
  function inline(text) {
    const span = el("span");
    String(text || "").split(/(`[^`]*`|\*\*[^*]+\*\*)/).forEach(function (part) {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
        span.append(el("code", {}, part.slice(1, -1)));
      } else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) {
        span.append(el("strong", {}, part.slice(2, -2)));
      } else {
        span.append(document.createTextNode(part));
      }
    });
    return span;
  }

  function paragraphs(text) {
    const box = el("div");
    String(text || "").split(/\n\s*\n/).forEach(function (p) {
      if (p.trim()) box.append(el("p", {}, inline(p.replace(/\s*\n\s*/g, " "))));
    });
    return box;
  }

  // Follows $ref, and merges allOf parts into one schema.
  function resolve(node) {
    let current = node || {};
    for (let i = 0; i < 10 && current.$ref; i++) {
      current = current.$ref.replace(/^#\//, "").split("/").reduce(function (obj, key) {
        return obj[key];
      }, spec);
    }
    if (!current.allOf) return current;
    const merged = {type: "object", properties: {}, required: [],
                    description: current.description};
    current.allOf.map(resolve).forEach(function (part) {
      Object.assign(merged.properties, part.properties || {});
      merged.required = merged.required.concat(part.required || []);
    });
    return merged;
  }

  function refName(node) {
    return node && node.$ref ? node.$ref.split("/").pop() : null;
  }

  function typeLabel(node) {
    const schema = resolve(node);
    let label = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type || "any");
    if (schema.type === "array" && schema.items) label = "array of " + typeLabel(schema.items);
    if (schema.format) label += " (" + schema.format + ")";
    if (schema.enum) label += ": " + schema.enum.join(" | ");
    return label;
  }

  function constraints(schema) {
    const out = [];
    if (schema.pattern) out.push("pattern " + schema.pattern);
    if (schema.minimum !== undefined) out.push(">= " + schema.minimum);
    if (schema.minLength !== undefined) out.push("min length " + schema.minLength);
    if (schema.maxLength !== undefined) out.push("max length " + schema.maxLength);
    if (schema.default !== undefined) out.push("default " + JSON.stringify(schema.default));
    return out.join("; ");
  }

  function fieldRows(node, prefix, rows, depth) {
    const schema = resolve(node);
    const required = schema.required || [];
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      const sub = resolve(prop);
      rows.push(el("tr", {"data-field": prefix + name},
        nameCell(prefix + name, required.includes(name)),
        el("td", {}, typeLabel(prop)),
        el("td", {}, inline(sub.description || ""), muted(constraints(sub)))));
      if (depth < 3 && sub.type === "object" && sub.properties) {
        fieldRows(sub, prefix + name + ".", rows, depth + 1);
      }
      if (depth < 3 && sub.type === "array" && sub.items && resolve(sub.items).properties) {
        fieldRows(sub.items, prefix + name + "[].", rows, depth + 1);
      }
    }
    return rows;
  }

  function fieldsTable(schemaNode) {
    const schema = resolve(schemaNode);
    const box = el("div", {}, table(["Field", "Type", "Description"],
                                    fieldRows(schemaNode, "", [], 0)));
    if (schema.oneOf) {
      const alternatives = schema.oneOf.map(function (alt) {
        return (alt.required || []).join(" + ");
      });
      box.append(muted("Exactly one of: " + alternatives.join(", ") + "."));
    }
    return box;
  }

  function examples(media) {
    const box = el("div");
    const pre = function (value) { return el("pre", {}, JSON.stringify(value, null, 2)); };
    if (media.example !== undefined) box.append(pre(media.example));
    for (const [name, ex] of Object.entries(media.examples || {})) {
      box.append(muted(ex.summary || name), pre(ex.value));
    }
    return box;
  }

  function parametersTable(params) {
    const rows = params.map(resolve).map(function (p) {
      const schema = resolve(p.schema || {});
      return el("tr", {"data-param": p.name},
        nameCell(p.name, p.required), el("td", {}, p.in), el("td", {}, typeLabel(schema)),
        el("td", {}, inline(p.description || ""), muted(constraints(schema))));
    });
    return table(["Name", "In", "Type", "Description"], rows);
  }

  function responseBlock(status, response) {
    const box = el("div", {"class": "response", "data-status": status});
    box.append(el("h4", {}, el("span", {"class": "status"}, status), " ",
                  inline(response.description)));
    const media = (response.content || {})["application/json"];
    if (!media) return box;
    if (status.startsWith("2")) {
      box.append(fieldsTable(media.schema), examples(media));
      return box;
    }
    const codes = el("div", {"class": "codes"});
    Object.keys(media.examples || {}).forEach(function (code) {
      codes.append(el("a", {"href": "#error-" + code, "data-error-code": code},
                      el("code", {}, code)));
    });
    box.append(codes);
    if (response.headers) box.append(muted("Headers: " + Object.keys(response.headers)));
    return box;
  }

  function operation(path, method, op) {
    const id = op.operationId || (method + path);
    const verb = method.toUpperCase();
    const section = el("section",
                       {"class": "op", "id": id, "data-path": path, "data-method": verb});
    section.append(el("h3", {}, el("span", {"class": "method " + method}, verb), " ", path));
    const body = el("div", {"class": "body"});
    body.append(el("p", {}, el("strong", {}, op.summary || "")));
    if (op.description) body.append(paragraphs(op.description));
    const security = op.security || spec.security || [];
    body.append(muted(security.length ? "Auth: Authorization: Bearer <terminal key>" : "No auth"));
    if (op.parameters && op.parameters.length) {
      body.append(el("h4", {}, "Parameters"), parametersTable(op.parameters));
    }
    if (op.requestBody) {
      const media = op.requestBody.content["application/json"];
      const name = refName(media.schema);
      body.append(el("h4", {}, "Request body" + (name ? " (" + name + ")" : "")),
                  fieldsTable(media.schema), examples(media));
    }
    body.append(el("h4", {}, "Responses"));
    for (const [status, response] of Object.entries(op.responses || {})) {
      body.append(responseBlock(status, resolve(response)));
    }
    section.append(body);
    nav.append(el("a", {"href": "#" + id}, verb + " " + path));
    return section;
  }

  function errorTable() {
    const enumerated = resolve({$ref: "#/components/schemas/ErrorCode"}).enum || [];
    const codes = spec["x-error-codes"] || enumerated.map(function (c) { return {code: c}; });
    const rows = codes.map(function (e) {
      return el("tr", {"id": "error-" + e.code, "data-code": e.code},
        el("td", {}, el("code", {}, e.code)), el("td", {}, String(e.status || "")),
        el("td", {}, inline(e.meaning || "")));
    });
    const envelope = '{"error": {"code": "...", "message": "..."}}';
    return el("section", {"id": "errors"}, el("h2", {}, "Error codes"),
      el("p", {}, "Every non-2xx answer: ", el("code", {}, envelope), "."),
      table(["Code", "HTTP status", "Meaning"], rows));
  }

  function render() {
    document.title = spec.info.title + " " + spec.info.version;
    document.getElementById("title").textContent = spec.info.title;
    const subtitle = document.getElementById("subtitle");
    subtitle.textContent = "Version " + spec.info.version + " \u00b7 OpenAPI " + spec.openapi;
    subtitle.append(" \u00b7 ", el("a", {"href": "openapi.json"}, "openapi.json"));
    const server = (spec.servers && spec.servers[0].url) || "/";
    main.append(el("section", {"id": "overview"}, el("h2", {}, "Overview"),
                   paragraphs(spec.info.description),
                   el("p", {}, "Server: ", el("code", {}, server))));
    nav.append(el("h2", {}, "Endpoints"));
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of ["get", "post", "put", "patch", "delete"]) {
        if (item[method]) main.append(operation(path, method, item[method]));
      }
    }
    nav.append(el("h2", {}, "Reference"), el("a", {"href": "#errors"}, "Error codes"));
    main.append(errorTable());
    document.body.setAttribute("data-ready", "true");
  }

  fetch("openapi.json", {headers: {"Accept": "application/json"}})
    .then(function (r) {
      if (!r.ok) throw new Error("openapi.json answered " + r.status);
      return r.json();
    })
    .then(function (doc) { spec = doc; render(); })
    .catch(function (err) {
      const message = "Could not load the API document: " + err.message;
      document.getElementById("error").textContent = message;
      document.body.setAttribute("data-ready", "error");
    });
})();
</script>
</body>
</html>
"""
