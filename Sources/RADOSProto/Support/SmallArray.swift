/// A list that keeps its first four elements inline and only the rest in an array: the
/// ops of a reply (one for a read, two for an image write) and the segments of a frame
/// (at most four) then cost no heap allocation, where an `Array` costs one per list.
///
/// It is a random-access, mutable collection, built from an array literal or appended
/// to, and equal to another when their elements are.
package struct SmallArray<Element>: RandomAccessCollection, MutableCollection {
    private var first0: Element?
    private var first1: Element?
    private var first2: Element?
    private var first3: Element?
    /// Elements from index 4 on (empty, and unallocated, for four or fewer).
    private var rest: [Element] = []
    package private(set) var count = 0

    package init() {}

    /// One element (an array literal would make an array for its variadic arguments).
    /// Labelled: unlabelled, `SmallArray(someArray)` would make a list of one array.
    package init(single element: Element) {
        append(element)
    }

    /// Two elements, in order.
    package init(_ first: Element, _ second: Element) {
        append(first)
        append(second)
    }

    package init<S: Sequence>(_ elements: S) where S.Element == Element {
        for element in elements { append(element) }
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { count }

    package subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "SmallArray index \(position) out of range 0..<\(count)")
            switch position {
            case 0: return first0.unsafelyUnwrapped
            case 1: return first1.unsafelyUnwrapped
            case 2: return first2.unsafelyUnwrapped
            case 3: return first3.unsafelyUnwrapped
            default: return rest[position - Self.inlineCount]
            }
        }
        set {
            precondition(position >= 0 && position < count, "SmallArray index \(position) out of range 0..<\(count)")
            switch position {
            case 0: first0 = newValue
            case 1: first1 = newValue
            case 2: first2 = newValue
            case 3: first3 = newValue
            default: rest[position - Self.inlineCount] = newValue
            }
        }
    }

    package mutating func append(_ element: Element) {
        switch count {
        case 0: first0 = element
        case 1: first1 = element
        case 2: first2 = element
        case 3: first3 = element
        default: rest.append(element)
        }
        count += 1
    }

    /// Room for `capacity` elements in all (only the part past the inline four allocates).
    package mutating func reserveCapacity(_ capacity: Int) {
        if capacity > Self.inlineCount { rest.reserveCapacity(capacity - Self.inlineCount) }
    }

    /// How many elements are kept inline.
    static var inlineCount: Int { 4 }
}

/// (A literal's elements arrive as an array: the hot paths use the initializers above.)
extension SmallArray: ExpressibleByArrayLiteral {
    package init(arrayLiteral elements: Element...) {
        self.init(elements)
    }
}

extension SmallArray: Equatable where Element: Equatable {
    package static func == (lhs: SmallArray, rhs: SmallArray) -> Bool {
        lhs.elementsEqual(rhs)
    }
}

extension SmallArray: Hashable where Element: Hashable {
    package func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for element in self { hasher.combine(element) }
    }
}

extension SmallArray: Sendable where Element: Sendable {}

extension SmallArray: CustomStringConvertible {
    package var description: String { Array(self).description }
}
