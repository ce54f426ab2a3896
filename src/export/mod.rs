//! Span records → destinations. (Being built: see the export helper.)
