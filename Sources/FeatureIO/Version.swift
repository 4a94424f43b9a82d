/// The toolkit's version, written into every file `afg` creates (`created_by`).
public let afgVersion = "0.1.0"
