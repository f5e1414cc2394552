import Yams

/// A lab file as a tree of keys and scalars with line numbers, before validation, so
/// overrides can be applied and every error can point at a line.
indirect enum LabTree {
    case scalar(String, line: Int?, setBy: String?)
    /// Pairs keep the line of their key: errors about a key point at the key, not its value.
    /// A mapping a `--set` created has no line, and names that `--set`.
    case mapping([(key: String, keyLine: Int?, value: LabTree)], line: Int?, setBy: String? = nil)
    case sequence([LabTree], line: Int?)

    init(_ node: Node) {
        switch node {
        case .scalar(let s): self = .scalar(s.string, line: s.mark?.line, setBy: nil)
        case .mapping(let m):
            self = .mapping(m.map { (key: $0.key.string ?? "\($0.key)", keyLine: $0.key.mark?.line, value: LabTree($0.value)) }, line: m.mark?.line)
        case .sequence(let s): self = .sequence(s.map(LabTree.init), line: s.mark?.line)
        }
    }

    var line: Int? {
        switch self {
        case .scalar(_, let l, _), .mapping(_, let l, _), .sequence(_, let l): l
        }
    }

    var setBy: String? {
        switch self {
        case .scalar(_, _, let s), .mapping(_, _, let s): s
        case .sequence: nil
        }
    }

    var pairs: [(key: String, keyLine: Int?, value: LabTree)]? {
        if case .mapping(let p, _, _) = self { return p }
        return nil
    }

    var scalar: String? {
        if case .scalar(let s, _, _) = self { return s }
        return nil
    }

    subscript(key: String) -> LabTree? {
        pairs?.first { $0.key == key }?.value
    }

    /// The line of `key` in this mapping.
    func keyLine(_ key: String) -> Int? {
        pairs?.first { $0.key == key }?.keyLine
    }

    /// Sets `path` (keys from the top) to a scalar, creating mappings on the way. In a sequence,
    /// a component is an index (`services.0.scheduler`) or `*` for every item. Returns false when
    /// the path names an item a sequence does not have.
    @discardableResult
    mutating func set(_ path: ArraySlice<String>, to value: String, setBy: String) -> Bool {
        guard let first = path.first else {
            self = .scalar(value, line: nil, setBy: setBy)
            return true
        }
        if case .sequence(var items, let line) = self {
            let targets: [Int]
            if first == "*" { targets = Array(items.indices) } else if let i = Int(first), items.indices.contains(i) { targets = [i] } else { return false }
            var ok = !targets.isEmpty
            for i in targets { ok = items[i].set(path.dropFirst(), to: value, setBy: setBy) && ok }
            self = .sequence(items, line: line)
            return ok
        }
        var p = pairs ?? []
        let line = self.line
        let origin = pairs == nil ? setBy : self.setBy   // a value replaced by a mapping: the --set made it
        var ok = true
        if let i = p.firstIndex(where: { $0.key == first }) {
            ok = p[i].value.set(path.dropFirst(), to: value, setBy: setBy)
        } else {
            var child = LabTree.mapping([], line: nil, setBy: setBy)
            ok = child.set(path.dropFirst(), to: value, setBy: setBy)
            p.append((key: first, keyLine: nil, value: child))
        }
        self = .mapping(p, line: pairs == nil ? nil : line, setBy: origin)
        return ok
    }
}

extension LabTree {
    /// The items of a sequence.
    var items: [LabTree]? {
        if case .sequence(let s, _) = self { return s }
        return nil
    }
}
