/// The example project's own code: how many of `connections` each web server should take,
/// given the weights its IPVS service is configured with. The tests check it against real
/// traffic through kernel IPVS in a lab (see Tests/WebTierTests).
public enum Capacity {
    /// Each server's share of `connections`, proportional to its weight (weight 0: none).
    /// Rounding leftovers go to the heaviest servers first, then by name.
    public static func shares(weights: [String: Int], connections: Int) -> [String: Int] {
        let total = weights.values.filter { $0 > 0 }.reduce(0, +)
        guard total > 0 else { return weights.mapValues { _ in 0 } }
        var shares = weights.mapValues { max(0, $0) * connections / total }
        var left = connections - shares.values.reduce(0, +)
        for name in weights.keys.sorted(by: { (weights[$0]!, $1) > (weights[$1]!, $0) }) where left > 0 && weights[name]! > 0 {
            shares[name]! += 1
            left -= 1
        }
        return shares
    }
}
