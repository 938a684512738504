//! Progress reporting on stderr (indicatif), shown only on a terminal and without `--quiet`.
