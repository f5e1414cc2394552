import Testing
@testable import LblabTraffic

@Suite struct RepliesTests {
    static let response = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Lblab-Node: rs1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nrs1\n".utf8)

    @Test func nodeFromHeader() {
        #expect(Replies.node(inHTTP: Self.response) == "rs1")
        #expect(Replies.node(inHTTP: Array("HTTP/1.0 200 OK\r\nx-lblab-node:   rs22  \r\n\r\n".utf8)) == "rs22")
        #expect(Replies.node(inHTTP: Array("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nX-Lblab-Node: body\r\n".utf8)) == nil)
        #expect(Replies.node(inHTTP: Array("SSH-2.0\r\nX-Lblab-Node: rs1\r\n\r\n".utf8)) == nil)
    }

    @Test func completeByContentLength() {
        #expect(Replies.isComplete(Self.response))
        #expect(!Replies.isComplete(Array(Self.response.dropLast())))
        #expect(!Replies.isComplete(Array(Self.response.prefix(30))))
    }

    @Test func datagramAnswers() {
        let request = Replies.datagram(7)
        #expect(request == Array("lblab 7\n".utf8))
        let answer = Array("X-Lblab-Node: rs2\n".utf8) + request
        #expect(Replies.node(inDatagram: answer[...], answering: request) == "rs2")
        #expect(Replies.node(inDatagram: answer[...], answering: Replies.datagram(8)) == nil)
        #expect(Replies.node(inDatagram: Array("hello".utf8)[...], answering: request) == nil)
    }
}
