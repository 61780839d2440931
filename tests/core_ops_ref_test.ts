// Runs the shared op suite (gradients vs central differences, inputs untouched) on the
// "cpu-ref" reference backend.

import { runOpSuite } from "./core_ops_suite.ts";

runOpSuite("cpu-ref");
