import Foundation

/// The OpenAPI 3.1 description of Nurture's HTTP routes, served at `GET /v1/openapi.json`.
/// A test checks it with a real validator and that every route the server registers is in it.
public enum OpenAPIDocument {
    public static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Nurture",
        "version": "0.1.0",
        "summary": "Tracking, events, leads, reports and relay webhooks of a Nurture service.",
        "description": "Bodies are JSON in UTF-8 (Content-Type: application/json; else 415), at most 1 MiB (else 413). A bad value, an unknown key or a missing one is a 400 with {\"error\": {\"message\": ...}} and nothing recorded. /v1 needs Authorization: Bearer <http.api_key>; without a configured key it is closed (401)."
      },
      "servers": [{ "url": "http://127.0.0.1:8080" }],
      "security": [{ "bearer": [] }],
      "tags": [
        { "name": "tracking", "description": "Signed links in the emails: public." },
        { "name": "api", "description": "Events, leads and reports: bearer key." },
        { "name": "operations", "description": "Health, metrics, the dashboard and this document." }
      ],
      "paths": {
        "/o/{token}": {
          "get": {
            "tags": ["tracking"], "summary": "The open pixel: records email_opened", "security": [],
            "parameters": [{ "$ref": "#/components/parameters/token" }],
            "responses": {
              "200": { "description": "A 1×1 GIF, never cached (also for a valid token whose email is not stored, such as a test send: then nothing is recorded).", "content": { "image/gif": { "schema": { "type": "string", "contentMediaType": "image/gif" } } } },
              "404": { "$ref": "#/components/responses/unknownToken" }
            }
          }
        },
        "/c/{token}": {
          "get": {
            "tags": ["tracking"], "summary": "A tracked link: records email_clicked and redirects to the link signed into the token", "security": [],
            "parameters": [{ "$ref": "#/components/parameters/token" }],
            "responses": {
              "302": { "description": "To the link's exact target (also for a valid token whose email is not stored, such as a test send: then nothing is recorded).", "headers": { "Location": { "schema": { "type": "string", "format": "uri" } } } },
              "404": { "$ref": "#/components/responses/unknownToken" }
            }
          }
        },
        "/v/{token}": {
          "get": {
            "tags": ["tracking"], "summary": "The web view: the email as it was sent", "security": [],
            "parameters": [{ "$ref": "#/components/parameters/token" }],
            "responses": {
              "200": { "$ref": "#/components/responses/html" },
              "404": { "$ref": "#/components/responses/unknownToken" }
            }
          }
        },
        "/u/{token}": {
          "get": {
            "tags": ["tracking"], "summary": "The unsubscribe confirmation page (changes nothing: link scanners follow GETs)", "security": [],
            "parameters": [{ "$ref": "#/components/parameters/token" }],
            "responses": {
              "200": { "$ref": "#/components/responses/html" },
              "404": { "$ref": "#/components/responses/unknownToken" }
            }
          },
          "post": {
            "tags": ["tracking"], "summary": "Unsubscribes (RFC 8058 one-click, and the confirmation page's button)", "security": [],
            "parameters": [{ "$ref": "#/components/parameters/token" }],
            "responses": {
              "200": { "$ref": "#/components/responses/html" },
              "404": { "$ref": "#/components/responses/unknownToken" }
            }
          }
        },
        "/v1/events": {
          "post": {
            "tags": ["api"], "summary": "Records events (each stored and scored with its effects in one transaction)",
            "requestBody": {
              "required": true,
              "content": { "application/json": { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/Event" },
                { "type": "array", "items": { "$ref": "#/components/schemas/Event" }, "minItems": 1, "maxItems": 1000 },
                { "type": "object", "properties": { "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" }, "minItems": 1, "maxItems": 1000 } }, "required": ["events"], "additionalProperties": false }
              ] } } }
            },
            "responses": {
              "202": { "description": "Recorded.", "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                  "recorded": { "type": "integer" },
                  "duplicates": { "type": "integer", "description": "Events whose client id was posted before: nothing stored." },
                  "unknown_leads": { "type": "array", "items": { "type": "string" } }
                }
              } } } },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" },
              "413": { "$ref": "#/components/responses/tooLarge" },
              "415": { "$ref": "#/components/responses/badRequest" }
            }
          }
        },
        "/v1/leads": {
          "post": {
            "tags": ["api"], "summary": "Creates or updates a lead (by email)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Lead" } } } },
            "responses": {
              "200": { "$ref": "#/components/responses/leadSaved" },
              "201": { "$ref": "#/components/responses/leadSaved" },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/leads/{email}": {
          "get": {
            "tags": ["api"], "summary": "A lead: stage, scores with their breakdown, stage history, enrollment, recent sends",
            "parameters": [{ "name": "email", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": {
              "200": { "description": "The lead.", "content": { "application/json": { "schema": { "type": "object", "properties": {
                "id": { "type": "string" }, "email": { "type": "string" }, "stage": { "type": "string" },
                "score": { "type": "integer" }, "fit_score": { "type": "integer" }, "engagement_score": { "type": "integer" },
                "status": { "type": "string" }, "tags": { "type": "array", "items": { "type": "string" } },
                "fields": { "type": "object", "additionalProperties": { "type": "string" } }
              } } } } },
              "401": { "$ref": "#/components/responses/unauthorized" },
              "404": { "$ref": "#/components/responses/badRequest" },
              "409": { "description": "The lead is parked: its stored state cannot be read.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/v1/reports/funnel": {
          "get": {
            "tags": ["api"], "summary": "The funnel report (as nurture report funnel --format json)",
            "parameters": [{ "$ref": "#/components/parameters/since" }, { "$ref": "#/components/parameters/until" }],
            "responses": {
              "200": { "description": "The report.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FunnelReport" } } } },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/reports/steps": {
          "get": {
            "tags": ["api"], "summary": "The steps report (as nurture report steps --format json)",
            "parameters": [
              { "$ref": "#/components/parameters/since" }, { "$ref": "#/components/parameters/until" },
              { "name": "sequence", "in": "query", "required": false, "schema": { "type": "string" } }
            ],
            "responses": {
              "200": { "description": "The report.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/StepsReport" } } } },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/webhooks/relay": {
          "post": {
            "tags": ["api"], "summary": "Delivery reports from a relay: bounces and complaints suppress the address",
            "requestBody": {
              "required": true,
              "content": { "application/json": { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/RelayReport" },
                { "type": "array", "items": { "$ref": "#/components/schemas/RelayReport" }, "minItems": 1, "maxItems": 1000 }
              ] } } }
            },
            "responses": {
              "202": { "description": "Applied.", "content": { "application/json": { "schema": { "type": "object", "properties": {
                "applied": { "type": "integer" }, "unknown": { "type": "integer" }
              } } } } },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/webhooks/postmark": {
          "post": {
            "tags": ["api"], "summary": "Postmark's webhooks (Bounce, SpamComplaint, Delivery, SubscriptionChange): hard bounces, complaints and unsubscribes suppress",
            "security": [{ "postmark": [] }],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["RecordType"], "properties": {
              "RecordType": { "type": "string" }, "Type": { "type": "string" }, "Email": { "type": "string" }, "Recipient": { "type": "string" },
              "Metadata": { "type": "object" }, "SuppressSending": { "type": "boolean" }, "SuppressionReason": { "type": "string" }
            } } } } },
            "responses": {
              "200": { "$ref": "#/components/responses/providerApplied" },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/webhooks/sendgrid": {
          "post": {
            "tags": ["api"], "summary": "SendGrid's signed Event Webhook (bounce, dropped, spamreport, unsubscribe, delivered): hard bounces, complaints and unsubscribes suppress",
            "security": [],
            "parameters": [
              { "name": "X-Twilio-Email-Event-Webhook-Signature", "in": "header", "required": true, "schema": { "type": "string" } },
              { "name": "X-Twilio-Email-Event-Webhook-Timestamp", "in": "header", "required": true, "schema": { "type": "string" } }
            ],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "array", "maxItems": 1000, "items": {
              "type": "object", "required": ["event"], "properties": { "event": { "type": "string" }, "email": { "type": "string" }, "sg_event_id": { "type": "string" } }
            } } } } },
            "responses": {
              "200": { "$ref": "#/components/responses/providerApplied" },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/v1/openapi.json": {
          "get": {
            "tags": ["operations"], "summary": "This document", "security": [],
            "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": { "schema": { "type": "object" } } } } }
          }
        },
        "/dashboard": {
          "get": {
            "tags": ["operations"], "summary": "The dashboard (HTML): any user name, the API key as the password",
            "security": [{ "basic": [] }, { "bearer": [] }],
            "parameters": [
              { "$ref": "#/components/parameters/since" }, { "$ref": "#/components/parameters/until" },
              { "name": "sequence", "in": "query", "required": false, "schema": { "type": "string" } }
            ],
            "responses": {
              "200": { "$ref": "#/components/responses/html" },
              "400": { "$ref": "#/components/responses/badRequest" },
              "401": { "$ref": "#/components/responses/unauthorized" }
            }
          }
        },
        "/healthz": {
          "get": {
            "tags": ["operations"], "summary": "Health", "security": [],
            "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } }
          }
        },
        "/metrics": {
          "get": {
            "tags": ["operations"], "summary": "Prometheus metrics (bearer key, unless http.metrics: public)",
            "responses": {
              "200": { "description": "Prometheus text exposition.", "content": { "text/plain": { "schema": { "type": "string" } } } },
              "401": { "$ref": "#/components/responses/unauthorized" },
              "404": { "description": "Metrics are not served here." }
            }
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearer": { "type": "http", "scheme": "bearer", "description": "http.api_key (NURTURE_API_KEY)." },
          "basic": { "type": "http", "scheme": "basic", "description": "Any user name; http.api_key as the password." },
          "postmark": { "type": "http", "scheme": "basic", "description": "providers.postmark.username and password, set in Postmark's webhook URL." }
        },
        "parameters": {
          "token": { "name": "token", "in": "path", "required": true, "description": "A signed tracking token.", "schema": { "type": "string" } },
          "since": { "name": "since", "in": "query", "required": false, "description": "Start, included: YYYY-MM-DD (midnight UTC) or ISO 8601. Default: 30 days before until.", "schema": { "type": "string" } },
          "until": { "name": "until", "in": "query", "required": false, "description": "End, excluded: YYYY-MM-DD (midnight UTC) or ISO 8601. Default: now.", "schema": { "type": "string" } }
        },
        "responses": {
          "html": { "description": "An HTML page.", "content": { "text/html": { "schema": { "type": "string" } } } },
          "unknownToken": { "description": "A tampered or foreign token (or, for the web view and unsubscribe links, one whose email is not stored): nothing recorded.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "providerApplied": { "description": "Applied: reports that became events, ignored records (opens, clicks, deferrals), and those naming no known lead or email.", "content": { "application/json": { "schema": { "type": "object", "properties": {
            "applied": { "type": "integer" }, "ignored": { "type": "integer" }, "unknown": { "type": "integer" }
          } } } } },
          "badRequest": { "description": "What was wrong, nothing recorded.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "unauthorized": { "description": "No key, or a wrong one.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "tooLarge": { "description": "The body is over 1 MiB.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
          "leadSaved": { "description": "Created (201) or updated (200).", "content": { "application/json": { "schema": { "type": "object", "properties": {
            "email": { "type": "string" }, "created": { "type": "boolean" }
          } } } } }
        },
        "schemas": {
          "Error": {
            "type": "object",
            "properties": { "error": { "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] } },
            "required": ["error"]
          },
          "Event": {
            "type": "object",
            "description": "Give the lead's email or lead_id.",
            "properties": {
              "type": { "type": "string", "description": "page_visited, form_submitted, replied, or any custom name.", "examples": ["form_submitted"] },
              "email": { "type": "string", "format": "email" },
              "lead_id": { "type": "string" },
              "at": { "oneOf": [{ "type": "string", "format": "date-time" }, { "type": "number", "description": "Seconds since 1970." }] },
              "properties": { "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } },
              "id": { "type": "string", "description": "The client's id: posting it again stores nothing." }
            },
            "required": ["type"],
            "additionalProperties": false
          },
          "Lead": {
            "type": "object",
            "description": "Flat: every key other than these becomes a profile field (text, numbers or booleans; at most 4,096 characters).",
            "properties": {
              "email": { "type": "string", "format": "email" },
              "timezone": { "type": "string", "description": "An IANA zone, e.g. Europe/London." },
              "tags": { "type": "array", "items": { "type": "string", "minLength": 1, "maxLength": 64 }, "maxItems": 100 },
              "first_name": { "type": "string" }, "last_name": { "type": "string" }, "company": { "type": "string" }, "job_title": { "type": "string" }
            },
            "required": ["email"],
            "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
          },
          "RelayReport": {
            "type": "object",
            "description": "Give the message_id of the email (from its Message-ID header) or the address.",
            "properties": {
              "type": { "enum": ["delivered", "bounced", "complained", "unsubscribed"] },
              "message_id": { "type": "string", "maxLength": 998 },
              "email": { "type": "string", "format": "email" },
              "bounce_type": { "enum": ["hard", "soft"] },
              "reason": { "type": "string", "maxLength": 4096 }
            },
            "required": ["type"],
            "additionalProperties": false
          },
          "FunnelReport": {
            "type": "object",
            "properties": {
              "since": { "type": "string", "format": "date-time" }, "until": { "type": "string", "format": "date-time" },
              "stages": { "type": "array", "items": { "type": "object", "properties": { "stage": { "type": "string" }, "leads": { "type": "integer" } } } },
              "changes": { "type": "array", "items": { "type": "object", "properties": {
                "from": { "type": "string" }, "to": { "type": "string" }, "leads": { "type": "integer" }, "backwards": { "type": "boolean" }
              } } },
              "conversions": { "type": "array", "items": { "type": "object", "properties": {
                "from": { "type": "string" }, "to": { "type": "string" }, "entered": { "type": "integer" }, "converted": { "type": "integer" },
                "rate": { "type": ["number", "null"] }, "median_seconds": { "type": ["number", "null"] }
              } } },
              "recycled": { "type": "integer" },
              "daily": { "type": "array", "items": { "type": "object", "properties": {
                "day": { "type": "string", "format": "date-time" }, "stage": { "type": "string" }, "leads": { "type": "integer" }
              } } }
            }
          },
          "StepsReport": {
            "type": "object",
            "properties": {
              "since": { "type": "string", "format": "date-time" }, "until": { "type": "string", "format": "date-time" },
              "steps": { "type": "array", "items": { "type": "object", "properties": {
                "sequence": { "type": "string" }, "step": { "type": "string" },
                "sent": { "type": "integer" }, "delivered": { "type": "integer" }, "bounced": { "type": "integer" },
                "bounced_hard": { "type": "integer" }, "bounced_soft": { "type": "integer" },
                "opened": { "type": "integer", "description": "Emails opened by a person, once each." },
                "clicked": { "type": "integer", "description": "Emails clicked by a person, once each." },
                "open_rate": { "type": ["number", "null"] }, "click_rate": { "type": ["number", "null"] }, "click_to_open": { "type": ["number", "null"] },
                "unsubscribed": { "type": "integer" }, "unsubscribe_rate": { "type": ["number", "null"] }, "complained": { "type": "integer" },
                "replied": { "type": "integer" }, "form_submitted": { "type": "integer" }, "goal_exits": { "type": "integer" },
                "machine": { "type": "object", "properties": { "opened": { "type": "integer" }, "clicked": { "type": "integer" } } },
                "links": { "type": "array", "items": { "type": "object", "properties": {
                  "url": { "type": "string" }, "clicks": { "type": "integer" }, "unique_clicks": { "type": "integer" }
                } } }
              } } }
            }
          }
        }
      }
    }
    """#
}
