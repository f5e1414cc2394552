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
