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
        var lines: [String] = []
        lines.reserveCapacity(rows.count + 1)
        render { lines.append(String(decoding: $0, as: UTF8.self)) }
        return lines
    }

    /// The whole table, lines joined with `\n`, without a final newline.
    public var text: String {
        var text: [UInt8] = []
        var first = true
        render { line in
            if first {
                text.reserveCapacity((line.count + 1) * (rows.count + 1))
            } else {
                text.append(0x0a)
            }
            first = false
            text += line
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Hands each line's UTF-8 to `body`, header first: every column padded to its widest cell plus two spaces,
    /// the last one not, trailing spaces removed. Built as bytes: plans print thousands of rows.
    private func render(_ body: ([UInt8]) -> Void) {
        let all = [header] + rows
        // Each cell's width once (Characters; plain ASCII, as nearly every cell is, by its byte count).
        let cellWidths = all.map { row in row.map(Self.width) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cellWidths {
            for (index, width) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], width)
            }
        }
        var line: [UInt8] = []
        line.reserveCapacity(widths.reduce(2 * widths.count, +))
        for (row, rowWidths) in zip(all, cellWidths) {
            line.removeAll(keepingCapacity: true)
            for (index, cell) in row.enumerated() {
                line += cell.utf8
                if index < row.count - 1 {
                    line += repeatElement(0x20, count: widths[index] - rowWidths[index] + 2)
                }
            }
            while line.last == 0x20 { line.removeLast() }
            body(line)
        }
    }

    private static func width(_ cell: String) -> Int {
        cell.utf8.allSatisfy { $0 < 0x80 } ? cell.utf8.count : cell.count
    }
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
