// Runs the shared op suite on the fast "cpu" backend: gradients vs central differences and
// every op's values and gradients against the "cpu-ref" reference.

import { runOpSuite } from "./core_ops_suite.ts";

runOpSuite("cpu");
