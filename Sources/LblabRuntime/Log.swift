import Foundation
import Logging

/// The runtime's logger. Level from `LBLAB_LOG` (trace, debug, info, notice, warning, error);
/// warnings and worse by default, on standard error.
let log: Logger = {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = ProcessInfo.processInfo.environment["LBLAB_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return handler
    }
    return Logger(label: "lblab")
}()

extension LabRuntime {
    /// Logs (at debug) how long this process has run, from its start time in /proc/self/stat
    /// (10 ms resolution): where a command's time goes, process start-up included.
    public static func logPhase(_ name: String) {
        guard log.logLevel <= .debug else { return }  // no /proc read unless it is logged
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return }
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let seconds = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        log.debug("\(name)", metadata: ["ms since process start": "\(Int(seconds * 1000))"])
    }
}
