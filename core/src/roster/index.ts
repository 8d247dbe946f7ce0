// The canonical OneRoster 1.1 model lands here.
export {};
