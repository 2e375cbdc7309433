"use strict";
/**
 * The application interface: PEP 3333 (WSGI) meanings with JavaScript types.
 * @packageDocumentation
 */
Object.defineProperty(exports, "__esModule", { value: true });
