import LblabModel
import LblabTypes

/// The ordered kernel operations that build a lab, each with why it is there.
public struct Plan: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var step: Step
        /// One line on why, for `--explain`.
        public var why: String

        public init(step: Step, why: String) {
            self.step = step
            self.why = why
        }
    }

    public var lab: String
    public var entries: [Entry]

    public init(lab: String, entries: [Entry]) {
        self.lab = lab
        self.entries = entries
    }

    public var steps: [Step] { entries.map(\.step) }

    /// The steps that undo `done` (a prefix of a plan, or all of it), newest first: rollback of a
    /// failed `up` and `down` of a running lab take this one path.
    public static func teardown(of done: [Step]) -> [Step] {
        done.reversed().compactMap { step in
            switch step.undo {
            case .step(let undo): undo
            case .withNamespace, .nothing: nil
            }
        }
    }
}

/// Names lblab gives to a lab's kernel objects.
public enum LabNames {
    public static let prefix = "lblab-"

    public static func namespace(lab: String, node: String) -> String { "\(prefix)\(lab)-\(node)" }
    /// The namespace that holds the lab's bridges, so a lab never touches the root namespace.
    public static func switchNamespace(lab: String) -> String { "\(prefix)\(lab)-switch" }
    /// A segment's bridge, in the switch namespace.
    public static func bridge(segment: String) -> String { "br-\(segment)" }
    /// A node's port on a segment's bridge (in the switch namespace), named after the node, and
    /// after the node and interface when the node has several: it is also the capture point.
    public static func switchPort(node: NodeSpec, interface: InterfaceSpec) -> String {
        node.interfaces.count == 1 ? node.name : "\(node.name)-\(interface.name)"
    }
    /// The IP-in-IP tunnel interface of an LVS-TUN real server.
    public static let tunnel = "ipip0"

    /// Every namespace a lab owns, switch first.
    public static func namespaces(of spec: LabSpec) -> [String] {
        [switchNamespace(lab: spec.name)] + spec.nodes.map { namespace(lab: spec.name, node: $0.name) }
    }
}
