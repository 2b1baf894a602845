import ZKOffsets

/// Aligned columns as kafka-consumer-groups prints them: a header, then one row a line, columns separated by
/// at least two spaces, every column left-aligned, no trailing spaces.
public struct TextTable: Sendable, Equatable {
    /// The column names, the first line.
    public var header: [String]
    /// The rows below the header, one cell per column.
    public var rows: [[String]]

    /// A table with `header`; rows can be given now or appended.
    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    /// The lines, without a final newline.
    public var lines: [String] {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                if index == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    /// The whole table, lines joined with `\n`, without a final newline.
    public var text: String { lines.joined(separator: "\n") }
}

/// JSON text for the few shapes the tool writes, rendered by hand so that key order is fixed and the bytes are
/// the same on every run (exports must round-trip byte for byte).
public enum JSONText {
    /// A JSON string literal.
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// An object from already-rendered values, keys in the given order.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An array from already-rendered values.
    public static func array(_ values: [String]) -> String {
        "[" + values.joined(separator: ",") + "]"
    }

    /// A number or `null`.
    public static func number(_ value: Int64?) -> String {
        value.map { String($0) } ?? "null"
    }

    /// A string or `null`.
    public static func optionalString(_ value: String?) -> String {
        value.map { string($0) } ?? "null"
    }
}
