import LblabModel
import LblabTypes

/// The ordered kernel operations that build a lab, each with why it is there.
public struct Plan: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var step: Step
        /// One line on why, for `--explain`.
        public var why: String
    }

    public var lab: String
    public var entries: [Entry]

    public var steps: [Step] { entries.map(\.step) }

    /// The steps that undo `done` (a prefix of this plan, or all of it), in reverse order.
    public static func teardown(of done: [Step]) -> [Step] {
        done.reversed().compactMap(\.undo)
    }
}

/// Names lblab gives to a lab's kernel objects.
public enum LabNames {
    public static let prefix = "lblab-"

    public static func namespace(lab: String, node: String) -> String { "\(prefix)\(lab)-\(node)" }
    /// The namespace that holds the lab's bridge, so a lab never touches the root namespace.
    public static func switchNamespace(lab: String) -> String { "\(prefix)\(lab)-switch" }
    public static let bridge = "br0"
    /// A node's interface inside its own namespace.
    public static let nodeInterface = "eth0"
    /// A node's port on the bridge, in the switch namespace (named after the node).
    public static func switchPort(node: String) -> String { node }
}
