// The coordinator lives here.
