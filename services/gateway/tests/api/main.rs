//! The gateway through its port, against real gRPC servers on ephemeral ports: routing,
//! authentication and authorisation, limits, gRPC-Web, REST/JSON and OpenAPI.

mod auth;
mod config;
mod grpc;
mod journey;
mod limits;
mod openapi;
mod rest;
mod rules;
mod support;
mod tickets;
mod web;
