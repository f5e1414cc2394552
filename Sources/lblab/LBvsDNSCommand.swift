import ArgumentParser
import Foundation
import LblabAnalysis
import LblabDNS
import LblabRuntime

/// `lblab test lb-vs-dns`: the two labs of `LBvsDNS` tested one after the other (each as `lblab
/// test LAB` would: the keepalived lab in the lab VM where the kernel has no IPVS), then the
/// side-by-side table from their saved runs.
struct LBvsDNSComparison: Encodable {
    var dns: LBvsDNS.Side
    var lb: LBvsDNS.Side
    var statuses: [String: Int32]
}

extension Test {
    func compareLBvsDNS() throws {
        try LabRuntime.requireRoot()
        let dir = captures ?? "/tmp/lblab-captures/\(LBvsDNS.name)"
        var statuses: [String: Int32] = [:]
        for (lab, sub) in [(LBvsDNS.dnsLab, "dns"), (LBvsDNS.lbLab, "lb")] {
            if !output.json { print("== lblab test \(lab) ==") }
            fflush(nil)   // before the child's own output
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executablePath)
            p.arguments = ["test", lab, "--captures", "\(dir)/\(sub)"] + (noVM ? ["--no-vm"] : [])
            if output.json { p.standardOutput = FileHandle.nullDevice }
            try p.run()
            p.waitUntilExit()
            statuses[lab] = p.terminationStatus
            if !output.json { print("") }
            fflush(nil)
        }
        if let (lab, status) = statuses.first(where: { $0.value > 1 }) {
            throw RuntimeError.system("compare \(LBvsDNS.dnsLab) and \(LBvsDNS.lbLab): lblab test \(lab) could not run (exit status \(status), see above)", EIO)
        }
        let dnsData = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/dns/dns-run.json"))
        let dnsRun = try JSONDecoder().decode(DNSRun.self, from: dnsData)
        let record = try RunRecord.read(from: "\(dir)/lb")
        guard let dns = LBvsDNS.dnsSide(dnsRun), let lb = LBvsDNS.lbSide(record) else {
            throw RuntimeError.system("compare the runs in \(dir): one of them has no down fault (its lab file was changed?)", EINVAL)
        }
        if output.json {
            try printJSON(LBvsDNSComparison(dns: dns, lb: lb, statuses: statuses))
        } else {
            print("== \(LBvsDNS.name): the same fault, DNS round robin vs keepalived + IPVS ==")
            print(LBvsDNS.table(dns: dns, lb: lb))
            print("runs: \(dir)/dns (dns-run.json), \(dir)/lb (run.json); each lab's own verdicts above")
        }
        if statuses.values.contains(1) { throw Exit.ruleFailed }
    }
}
