/// A lab file that cannot be used: which file, which key, what is wrong and what would be valid.
public struct LabFileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var key: String
    public var line: Int?
    public var problem: String
    public var valid: String?

    public init(file: String, key: String, line: Int? = nil, problem: String, valid: String? = nil) {
        self.file = file
        self.key = key
        self.line = line
        self.problem = problem
        self.valid = valid
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        var text = "\(where_): \(key.isEmpty ? "(top level)" : key): \(problem)"
        if let valid { text += " (valid: \(valid))" }
        return text
    }
}
